"""The simulated provider's DKIM key: its own world's, published in the simulated DNS.

A test key, public with this source: it signs the simulator's emails and nothing else. Only a
configuration that pins it (``[mail] dkim_keys``, as ``sbwatch sim serve`` prints) trusts it.
"""

from __future__ import annotations

SELECTOR = "sbwatch-sim"
DOMAIN = "supabase.com"
PRIVATE_KEY = b"""\
-----BEGIN RSA PRIVATE KEY-----
MIIEogIBAAKCAQEAtw2yEXen7aQflhZ4bJEXik7Ed/Y3cSoUkZVq52hwXzrta9cG
aB9LCthh7Lhv8KQhV4cm6mj7YwcR0BPqSU67joyNX8kOWpYnXWkaXB6LYC3aox6W
l7ELAT1ZEqO5yqvdc4Uora7LsyECZ1GZInJxUwAysIuQg6hWuE7J8jB6SJCTVCw0
OVwTeMgfrAy/PXEuuV3rxI8kX//FBflE9CLueEq/uhlapDWY41qWQPCWBT04C6+Y
5HwruUG80BensMBpGy0CdTbiZgApl0E1NdXFjQPwheKaG1peCHeH6CoT6+tw8YxA
/JTBCJ1+djKJ29XBdKtfUG1DOHK5ZX1F37hRmQIDAQABAoIBACtedEzNI50a4Fzn
z/ow2fnrtYKSdAo8pQjk9KIEzXLSfEOrexoaJ+ZW48R44hSKXlflbmPlIYIRv7ej
sENUAv2/8RK7iMoPfx4Tc6pVlkHgO0egTJ9905Skm0DeR3tsApiG+N9FZX94F6Cw
5W4S3SSEDH5lYoS+0mTyTcgykhY0u353jxNZYKCEo6LlFANOhtkmPsW3UxgtJ2Kp
MKGuKf5wEs3MTh/S4WeZjFZjlwUS6dDXAUUnbpnZn5wpwtAtD1uMr3f+YwF2yKKH
587kLDtCddguZjLl2N6UnUJr2A+bELQyqWQJMV8ZGRX9qQPG7Yk7EoVNMgYWpW7q
h2VEebECgYEA8HZ274eAe3JVX+NFaPz6DgTHtAuwpccIw5BRoVS4SS+p1GsGk1jQ
kpHOQz2rkCTQzY0MG4vimQdq3NJ3xdhNjiI1cUyyIzaAnptHDQgdFVsy3BkkBXKp
AfruVPYTpNsLTxi9guUA39gCqKGdeA3upku8MsmvLPh4HSqrC+XPZG0CgYEAwuGd
Xn/C9kkRyL6giydQKlsbqwTsh0czIELY/2TOpatjFmBIzxt/peijuI9MYtaU5Pec
FcDJ6wvKfD7TfPoAq9dqGtEjPYO4KLbR8EXs3m9FNyL+BJqDTC9X+GG9GNzBuW2E
mv7SB8xvop55jU3lPOP5UVphLMzNqDC7RVbibl0CgYAmCpfGTSmGXhAjm1DfyyXE
Ef2F/lNz5oj8Z1iCrWR6L5Auir//j41voqF/AcKiizB9VFMWCItQqlu9k45fPlkG
o2LRCdEkwPqYHPiglygCuOrS5ydLtVgHeCs8RbHV4tFnMgLJMnFw+Dtzch33YDzh
Ehoz7rRH6QcXlih5OWIWAQKBgDDY8mQcbBbli9KgjYczrHFhctb0HgFuhE8i0ld5
wh5ejjCuo7Fd+Cny3Q7GxGPF235k3jfJohMLWo64BLS/yWlJTmw4XbfuizuRT6AF
NvEuPNAsMjWfMSfoegllHkvcEabT37gmBSk1Qgol5NvZWYtgrT6KA++Byk7NIDOq
Kol1AoGAW3Fnz1cI6knCLV8qpdJ1ro85cRuxQM3dBSJ180OWKwSWqxdo1ObnpPZU
uywnRXFKTe+mDPWMJDNzxXw4eFspNi9LuYL5+PpYo6jpaEgD5hQC7UeyMTwyyg8t
F5eV2NME8IqAMDLnsAW+CzF51/ZnO4T/Q2vj3mZdnzIbD2g0E+A=
-----END RSA PRIVATE KEY-----
"""
PUBLIC_KEY = (
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtw2yEXen7aQflhZ4bJEXik7Ed/Y3cSoUkZVq"
    "52hwXzrta9cGaB9LCthh7Lhv8KQhV4cm6mj7YwcR0BPqSU67joyNX8kOWpYnXWkaXB6LYC3aox6Wl7EL"
    "AT1ZEqO5yqvdc4Uora7LsyECZ1GZInJxUwAysIuQg6hWuE7J8jB6SJCTVCw0OVwTeMgfrAy/PXEuuV3r"
    "xI8kX//FBflE9CLueEq/uhlapDWY41qWQPCWBT04C6+Y5HwruUG80BensMBpGy0CdTbiZgApl0E1NdXF"
    "jQPwheKaG1peCHeH6CoT6+tw8YxA/JTBCJ1+djKJ29XBdKtfUG1DOHK5ZX1F37hRmQIDAQAB"
)
"""The ``p=`` of the DKIM record: the DER public key, base64."""
RECORD_NAME = f"{SELECTOR}._domainkey.{DOMAIN}"
RECORD = f"v=DKIM1; k=rsa; p={PUBLIC_KEY}"
