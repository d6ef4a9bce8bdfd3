#!/usr/bin/env python3
"""Writes the realistic seed inputs of every fuzz target into ../corpus/<target>/ (see
../README.md). Run it once after adding a target; `cargo fuzz cmin` then keeps what adds
coverage. Tokens are signed with the test keys of ../src/lib.rs (Ed25519 seed 1..32) and
rsa-test-key.pem: test keys of this directory only."""

import base64
import hashlib
import json
import os
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "corpus")
NOW = 1_767_225_600  # centralauth_fuzz::NOW
ISSUER = "https://sso.example/centralauth"
CLIENT_ID = "demo-client"


def write(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(CORPUS, target, "seed-" + name), "wb") as f:
        f.write(data)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


ED = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
RSA = serialization.load_pem_private_key(open(os.path.join(HERE, "rsa-test-key.pem"), "rb").read(), None)


def jwt(header, claims, key="ed"):
    signing_input = (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())).encode()
    if key == "ed":
        sig = ED.sign(signing_input)
    else:
        sig = RSA.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return signing_input.decode() + "." + b64url(sig)


def params():
    seeds = {
        "authorize": "response_type=code&client_id=demo-client&redirect_uri=http%3A%2F%2F127.0.0.1%3A9000%2Fcentralauth%2Flogin%2Fcallback%2F%3Fnext%3D%252Fwhoami%252F&state=xyz&scope=openid+profile&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
        "token-code": "grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        "token-refresh": "grant_type=refresh_token&refresh_token=tGzv3JOkF0XG5Qx2TlKWIA&scope=read",
        "introspect": "token=2YotnFZFEjr1zCsicMWpAA&token_type_hint=access_token&client_id=demo-client&client_secret=s3cret",
        "repeated": "state=a&state=b&client_id=x",
        "empty-values": "a=&b&=c&&",
        "unicode": "name=J%C3%BCrgen&x=%E2%82%AC+%F0%9F%98%80",
        "not-utf8": "a=%ff%fe",
        "logout": "id_token_hint=eyJ.x.y&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2F&state=s1&ui_locales=de",
    }
    for name, s in seeds.items():
        write("params", name, s)


def basic_auth():
    def basic(i, s):
        return "Basic " + base64.b64encode(f"{i}:{s}".encode()).decode()
    write("basic_auth", "basic", basic("demo-client", "s3cret-0123456789ab") + "\0grant_type=refresh_token&refresh_token=abc")
    write("basic_auth", "basic-encoded", basic("my%3Aclient", "p%40ss+word") + "\0")
    write("basic_auth", "basic-lower", "basic   " + base64.b64encode(b"a:").decode() + "  \0client_id=other")
    write("basic_auth", "basic-bad", "Basic !!!\0client_id=demo-client&client_secret=x")
    write("basic_auth", "body", "\0client_id=demo-client&client_secret=s3cret")
    write("basic_auth", "body-repeated", "\0client_id=a&client_id=b")
    write("basic_auth", "bearer", "Bearer 2YotnFZFEjr1zCsicMWpAA\0")
    write("basic_auth", "digest", "Digest username=x\0client_id=a")


def redirect_uri():
    pairs = {
        "extra-query": ("http://127.0.0.1:9000/centralauth/login/callback/", "http://127.0.0.1:9000/centralauth/login/callback/?next=%2Fwhoami%2F"),
        "registered-query": ("https://app.example/cb/?tenant=a", "https://app.example/cb/?tenant=a&next=/x"),
        "exact": ("https://app.example/cb/", "https://app.example/cb/"),
        "dotdot": ("https://app.example/cb/", "https://app.example/cb/%2e%2e/evil"),
        "userinfo": ("https://app.example/cb/", "https://user@app.example/cb/"),
        "fragment": ("https://app.example/cb/", "https://app.example/cb/#frag"),
        "default-port": ("https://app.example/cb/", "https://app.example:443/cb/"),
        "numeric-ipv4": ("http://127.0.0.1:9000/cb/", "http://2130706433:9000/cb/"),
        "trailing-control": ("https://app.example/cb/", "https://app.example/cb/\x01"),
        "ipv6": ("http://[::1]:8080/cb", "http://[0:0::1]:8080/cb"),
        "native": ("com.example.app:/callback", "com.example.app:/callback?x=1"),
        "localhost": ("http://localhost:9000/cb/", "http://LOCALHOST:9000/cb/"),
        "javascript": ("javascript:alert(1)", "javascript:alert(1)"),
        "idn": ("https://bücher.example/cb", "https://xn--bcher-kva.example/cb"),
        "percent": ("https://app.example/c%20b/", "https://app.example/c b/"),
    }
    for name, (reg, req) in pairs.items():
        write("redirect_uri", name, reg + "\0" + req)


def perms_body():
    perms = [
        {"app_label": "notes", "codename": "view_note", "repr": "Can view notes"},
        {"app_label": "notes", "codename": "publish_note", "repr": "Can publish notes"},
        {"app_label": "auth", "codename": "add_user", "repr": "Can add user"},
    ]
    body = {"client_id": "demo-client", "client_secret": "s3cret-0123456789ab", "perms": perms}
    write("perms_body", "django-centralauth", json.dumps(body))
    write("perms_body", "compact", json.dumps(body, separators=(",", ":")))
    write("perms_body", "perms-first", json.dumps({"perms": perms, "client_id": "a", "client_secret": "b"}))
    write("perms_body", "no-perms", '{"client_id": "a", "client_secret": "b"}')
    write("perms_body", "escapes", '{"client_id": "d\\u00e9mo\\ud83d\\ude00", "client_secret": "s\\"e\\\\c", "perms": [{"app_label": "a.b", "codename": "x y", "repr": "\\u0000"}]}')
    write("perms_body", "duplicates", json.dumps({"client_id": "a", "client_secret": "b", "perms": perms + perms}))
    write("perms_body", "wrong-types", '{"client_id": 1, "client_secret": null, "perms": {"a": 1}}')


def admin_api_json():
    bodies = [
        (0, {"name": "Notes", "redirect_uris": ["https://notes.example/centralauth/login/callback/"], "profile": "django_centralauth",
             "client_id": "notes", "client_secret": "0123456789abcdef0123", "redirect_uri_match": "exact", "pkce": "required",
             "allow_introspection_get": False, "allow_insecure_redirect_uris": False, "access_token_lifetime": 300,
             "refresh_token_lifetime": 2592000, "post_logout_redirect_uris": ["https://notes.example/"],
             "backchannel_logout_uri": "https://notes.example/centralauth/backchannel/", "id_token_signing_alg": "EdDSA"}),
        (0, {"name": "Dev", "redirect_uris": ["http://127.0.0.1:9000/cb/", "http://dev.example/cb"], "allow_insecure_redirect_uris": True}),
        (1, {"name": "Renamed", "redirect_uris": ["https://a.example/cb"], "pkce": "optional", "backchannel_logout_uri": ""}),
        (2, {"name": "editors", "permission_ids": [1, 2, 3]}),
        (3, {"name": "staff", "permission_ids": []}),
        (4, {"user_ids": [1, 2, 9223372036854775807]}),
        (5, {"is_superuser": False, "is_staff": True, "is_active": True, "group_ids": [5], "permission_ids": [7]}),
        (6, {"name": "deploy", "expires_in_days": 30, "read_only": True, "applications": ["notes"]}),
        (6, {"name": "forever", "never_expires": True}),
        (7, {"username": "alice", "email": "alice@example.org", "first_name": "Alice", "last_name": "Liddell", "administrator": False,
             "password": "correct horse battery staple"}),
        (8, {"email": "", "first_name": "Jürgen", "is_active": False, "administrator": True}),
        (9, {"password": "alice2024!"}),
        (10, {"client_ids": ["notes", "wiki"]}),
    ]
    for i, (sel, body) in enumerate(bodies):
        write("admin_api_json", f"{i:02}", bytes([sel]) + json.dumps(body).encode())
    write("admin_api_json", "q-users", bytes([11]) + b"search=ali&active=true&administrator=false&after=alice&limit=50")
    write("admin_api_json", "q-audit", bytes([12]) + b"limit=20")
    write("admin_api_json", "q-members", bytes([13]) + b"search=a&limit=10")


def django_password_hash():
    def pbkdf2(algo, name, password, salt, iterations):
        dk = hashlib.pbkdf2_hmac(algo, password.encode(), salt.encode(), iterations)
        return f"{name}${iterations}${salt}${base64.b64encode(dk).decode()}"
    pw = "correct horse battery staple"
    write("django_password_hash", "pbkdf2-sha256", pbkdf2("sha256", "pbkdf2_sha256", pw, "saltsalt", 1000) + "\0" + pw)
    write("django_password_hash", "pbkdf2-sha256-wrong", pbkdf2("sha256", "pbkdf2_sha256", pw, "Ukc0QXFPSG1tVld2", 1200) + "\0wrong")
    write("django_password_hash", "pbkdf2-sha1", pbkdf2("sha1", "pbkdf2_sha1", pw, "s4lt", 500) + "\0" + pw)
    write("django_password_hash", "pbkdf2-django-default-cost", pbkdf2("sha256", "pbkdf2_sha256", "x", "abcdefgh12345678", 1) .replace("$1$", "$720000$") + "\0x")
    # Made with Django 3.2.25 at low cost (the constants of domain/password.rs's tests).
    write("django_password_hash", "argon2id", "argon2$argon2id$v=19$m=1024,t=2,p=1$Ukc0QXFPSG1tVld2RDFJNmZwem5HMw$x9Lt3qtuO6+F3LPb6bFqr2yG1IuweaZY2rRQzdzfC/E\0" + pw)
    write("django_password_hash", "argon2i", "argon2$argon2i$v=19$m=512,t=2,p=2$b2xkRGphbmdvU2FsdDE$HbFen461vClgf5wADPw/1A\0" + pw)
    write("django_password_hash", "argon2id-default-cost", "argon2$argon2id$v=19$m=102400,t=2,p=8$R0lna21aN3lqTjVmQ2hXV0RUbjI1RQ$Vx9HiS65/HtHg88d2XdyQY3CjUQknmNjoZnixn/rGhw\0" + pw)
    write("django_password_hash", "ours", "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQxMjM0NTY$Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE\0x")
    write("django_password_hash", "bcrypt-sha256", "bcrypt_sha256$$2b$04$zegJJJV6KpgCwRb43whv/.YkRRz3v/7RnowZYlr2HPKyWvuvz5jkq\0" + pw)
    write("django_password_hash", "bcrypt", "bcrypt$$2b$04$L2QmbRQkCyW.f7K7jigEyuGMc.mCJcQTFsy1nYHsAB.UQJLWXiEoC\0" + pw)
    write("django_password_hash", "unusable", "!Xk2mZ9rQ8wT3yU7vB1nC4dF6gH0jK5lM\0")
    write("django_password_hash", "md5", "md5$salt$0e6e1e2e3e4e5e6e7e8e9e0e1e2e3e4e\0x")


def event_claims(event, **extra):
    claims = {"iss": ISSUER, "aud": CLIENT_ID, "sub": "42", "jti": "a1b2c3d4", "iat": NOW - 10, "events": {event: {}}}
    claims.update(extra)
    return claims


LOGOUT = "http://schemas.openid.net/event/backchannel-logout"
ACCESS = "urn:centralauth:event:access-changed"


def backchannel_token():
    logout = event_claims(LOGOUT, exp=NOW + 120)
    access = event_claims(ACCESS)
    for key, kid, alg in [("ed", "ed-test", "EdDSA"), ("rsa", "rsa-test", "RS256")]:
        t_logout = jwt({"alg": alg, "typ": "logout+jwt", "kid": kid}, logout, key)
        t_access = jwt({"alg": alg, "typ": "secevent+jwt", "kid": kid}, access, key)
        write("backchannel_token", f"logout-{key}", b"\x00" + t_logout.encode())
        write("backchannel_token", f"set-{key}", b"\x01" + t_access.encode())
        write("backchannel_token", f"form-{key}", b"\x04logout_token=" + t_logout.encode())
    header = {"alg": "EdDSA", "typ": "logout+jwt", "kid": "ed-test"}
    write("backchannel_token", "signed-logout", b"\x02" + json.dumps(header).encode() + b"\0" + json.dumps(logout).encode())
    header = {"alg": "EdDSA", "typ": "application/secevent+jwt", "kid": "ed-test"}
    write("backchannel_token", "signed-set", b"\x03" + json.dumps(header).encode() + b"\0" + json.dumps(access).encode())
    write("backchannel_token", "signed-aud-list", b"\x02" + json.dumps({"alg": "EdDSA", "typ": "logout+jwt", "kid": "ed-test"}).encode() + b"\0"
          + json.dumps(event_claims(LOGOUT, aud=["other", CLIENT_ID], nonce="n")).encode())
    write("backchannel_token", "alg-none", b"\x00" + (b64url(b'{"alg":"none","typ":"logout+jwt"}') + "." + b64url(json.dumps(logout).encode()) + ".").encode())
    write("backchannel_token", "typ", b"\x04application/Logout+JWT")


def id_token_hint():
    claims = {"iss": ISSUER, "sub": "42", "aud": CLIENT_ID, "exp": NOW - 3600, "iat": NOW - 7200, "auth_time": NOW - 7200,
              "nonce": "n-0S6_WzA2Mj", "at_hash": "77QmUPtjPfzWtF2AnpK9RQ", "sid": "abc"}
    write("id_token_hint", "ed", b"\x00" + jwt({"alg": "EdDSA", "typ": "JWT", "kid": "ed-test"}, claims, "ed").encode())
    write("id_token_hint", "rsa", b"\x00" + jwt({"alg": "RS256", "typ": "JWT", "kid": "rsa-test"}, claims, "rsa").encode())
    write("id_token_hint", "alg-mismatch", b"\x00" + jwt({"alg": "RS256", "typ": "JWT", "kid": "ed-test"}, claims, "rsa").encode())
    write("id_token_hint", "signed", b"\x01" + json.dumps({"alg": "EdDSA", "typ": "JWT", "kid": "ed-test"}).encode() + b"\0" + json.dumps(claims).encode())


def request_headers():
    write("request_headers", "lang-de", b"\x00de-DE,de;q=0.9,en;q=0.8")
    write("request_headers", "lang-any", b"\x00fr-CH, fr;q=0.9, *;q=0.5")
    write("request_headers", "cookies", b"\x01centralauth_session=Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE; centralauth_csrf=abc")
    write("request_headers", "cookies-host", b'\x01__Host-centralauth_session="quoted"; __Host-centralauth_csrf=a%20b; other=1')
    write("request_headers", "xff", b"\x021.1.1.1, 198.51.100.7\n10.0.0.3")
    write("request_headers", "xff-ports", b"\x02[2001:db8::7]:443, 198.51.100.7:8080, evil")
    write("request_headers", "next", b"\x03/authorize/?client_id=demo-client&state=x")
    write("request_headers", "next-evil", b"\x03/\\evil.example")
    write("request_headers", "lines", b"\x04https://a.example/cb\r\n  https://b.example/cb  \n\n")


def pkce_scope():
    write("pkce_scope", "rfc7636", b"\x00E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\0S256\0dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
    write("pkce_scope", "plain", b"\x00dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk\0plain\0dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
    write("pkce_scope", "scope", b"\x01openid profile email offline_access\0read write")
    write("pkce_scope", "scope-unknown", b"\x01read admin\0  read   write ")
    write("pkce_scope", "compare", b"\x02csrf-token-value\0csrf-token-valuf")


def client_userinfo():
    info = {"sub": "42", "username": "alice", "first_name": "Alice", "last_name": "Liddell", "email": "alice@example.org",
            "is_superuser": False, "is_staff": True, "is_active": True, "permissions": [["notes", "view_note"], ["auth", "add_user"]]}
    write("client_userinfo", "user", b"\x00" + json.dumps(info).encode())
    info.update(is_active=False, is_superuser=True)
    info.pop("sub")
    write("client_userinfo", "django", b"\x00" + json.dumps(info).encode())
    write("client_userinfo", "next", b"\x01/whoami/?a=1")
    write("client_userinfo", "next-evil", b"\x01//evil.example/")


for f in [params, basic_auth, redirect_uri, perms_body, admin_api_json, django_password_hash, backchannel_token, id_token_hint,
          request_headers, pkce_scope, client_userinfo]:
    f()
