"""The arrs' HTTP API (Radarr/Sonarr v3): the client (`client`) and the resource shapes
(`shapes`). Only catch-up and the audit use it.
"""
