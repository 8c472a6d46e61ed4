import json
import urllib.request


# make this function retry 3 times when the request fails
def fetch_json(url):
    with urllib.request.urlopen(url) as response:
        return json.load(response)


def load_config(path):
    with open(path) as f:
        data = json.load(f)
    return {key.lower(): value for key, value in data.items()}


def main():
    config = load_config("config.json")
