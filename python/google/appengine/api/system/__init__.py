"""The `system` API service's messages (system_service_pb2)."""
