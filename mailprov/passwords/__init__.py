"""SMTP passwords: the codecs that store them and the key of mailprov's own codec.

Nothing is imported here: `mailprov.passwords.codec` finds codecs, `.fernet` is the
reference model's codec, `.keys` manages its key. Import the module you need.
"""
