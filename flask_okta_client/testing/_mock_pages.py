"""HTML pages of the mock Okta authorization server (Jinja sources)."""

_STYLE = """
body { font-family: system-ui, sans-serif; background: #f4f5f7; margin: 0; }
main { max-width: 22rem; margin: 4rem auto; background: #fff; padding: 2rem;
       border-radius: .5rem; box-shadow: 0 1px 4px rgba(0, 0, 0, .15); }
h1 { font-size: 1.4rem; margin-top: 0; }
.note { color: #555; font-size: .9rem; }
.error { color: #b00020; }
label { display: block; margin: 1rem 0 .3rem; }
input { width: 100%; box-sizing: border-box; padding: .5rem; font-size: 1rem; }
button { margin-top: 1rem; width: 100%; padding: .6rem; font-size: 1rem;
         background: #1662dd; color: #fff; border: 0; border-radius: .3rem; cursor: pointer; }
"""


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title} - Mock Okta</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


SIGN_IN_PAGE = _page(
    "Sign in",
    """<h1>Sign in</h1>
<p class="note">This is a mock Okta server: any username works, and there is no password.</p>
<p>Signing in to <strong>{{ client_id }}</strong>{% if scopes %} for {{ scopes | join(", ") }}{% endif %}.</p>
{% if error %}<p class="error" role="alert">{{ error }}</p>{% endif %}
<form method="post" action="{{ action }}">
<input type="hidden" name="pending" value="{{ pending }}">
<label for="username">Username</label>
<input id="username" name="username" value="{{ login_hint }}" autocomplete="username" autofocus required>
<label for="acr">Verified with</label>
<select id="acr" name="acr">
{% for value in levels %}<option value="{{ value }}"{% if value == level %} selected{% endif %}>{{ value }}</option>
{% endfor %}</select>
<button type="submit">Sign in</button>
</form>""",
)

ERROR_PAGE = _page(
    "Error",
    """<h1>Sign-in error</h1>
<p class="error" role="alert"><code>{{ error }}</code>{% if description %}: {{ description }}{% endif %}</p>
<p class="note">The application sent an invalid request, so the mock will not redirect back to it.</p>""",
)

SIGNED_OUT_PAGE = _page(
    "Signed out",
    """<h1>Signed out</h1>
<p>You are signed out of the mock Okta server.</p>""",
)
