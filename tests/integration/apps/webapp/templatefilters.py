"""A custom filter, registered the way App Engine apps did it."""
from google.appengine.ext.webapp import template

register = template.create_template_register()


@register.filter
def shout(value):
    return "%s!" % str(value).upper()
