"""What the syncer tells: job statuses and the retained summary (`status`), statistics
(`stats`, `history`), Home Assistant discovery (`homeassistant`).
"""
