"""App Engine's extension packages (google.appengine.ext.*) that gaelic provides."""
