"""A container-image Lambda handler reading one parameter through sidecache.

The image (Dockerfile beside this file) holds the sidecache extension in /opt/extensions and the
client package in /opt/python, copied from the layer zip: the same files a function with the
layer attached sees. PARAMETER_NAME names the parameter.
"""
import os

import sidecache


def handler(event, context):
    name = os.environ["PARAMETER_NAME"]
    # A String parameter: returning it is fine (never return a SecureString's or a secret's value).
    return {"name": name, "value": sidecache.default_client().parameter(name)}
