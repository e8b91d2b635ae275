"""Where files are: arr paths mapped to source and destination (`mapping`), paths kept inside
their root (`safety`), the sidecars that follow a media file (`sidecars`).
"""
