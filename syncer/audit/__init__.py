"""The audit of the mirror against the arrs' inventory: checking files (`check`), audits
requested over MQTT (`runner`) and the command (`command`).
"""
