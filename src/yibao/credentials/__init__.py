"""Credentials: e-voucher tokens (医保电子凭证), social-security cards, passwords and lockout."""
