"""A template loader in the style of jinja2's own, fetching over HTTP (added by the triage corpus)."""

import urllib.error
import urllib.request

from jinja2 import BaseLoader, TemplateError, TemplateNotFound


class HTTPLoader(BaseLoader):
    """Loads templates from a template server (in the style of jinja2's loaders)."""

    def __init__(self, base_url, timeout=5.0):
        self.base_url = base_url
        self.timeout = timeout

    def get_source(self, environment, template):
        url = f"{self.base_url}/{template}"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:
                source = response.read().decode()
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise TemplateNotFound(template) from exc
            raise TemplateError(f"template server answered {exc.code} {exc.reason} for {url}") from exc
        return source, url, lambda: False
