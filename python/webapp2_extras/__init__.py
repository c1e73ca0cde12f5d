"""webapp2_extras: the helpers App Engine's python27 runtime shipped with
webapp2, as gaelic's own implementation of their documented interface:
json, routes, security, securecookie, sessions, jinja2 (which needs
app.yaml `libraries: - name: jinja2`) and appengine.users. Not provided:
auth, i18n, mako, local, config, and the rest of webapp2_extras.appengine
(memcache and datastore sessions, auth's user models: gaelic has neither
service)."""
