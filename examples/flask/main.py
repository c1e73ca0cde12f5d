"""A small Flask app run on Debian's Flask (app.yaml libraries: flask)."""
from flask import Flask, jsonify, request

app = Flask(__name__)


@app.route("/")
def hello():
    return "Hello from Flask on gaelic!\n"


@app.route("/greet/<name>")
def greet(name):
    return jsonify(greeting="Hello, %s!" % name, lang=request.args.get("lang", "en"))
