"""App Engine service APIs (google.appengine.api.*)."""
