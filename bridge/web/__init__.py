"""The HTTP side: the Flask app and its routes (`app`), Basic auth (`auth`) and hints for wrong
URLs (`hints`).
"""
