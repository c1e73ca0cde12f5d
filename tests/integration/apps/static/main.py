raise RuntimeError("this app's script handler must never run in test_static")
