"""Copying files with rsync: the files of an attempt (`files`), coalesced runs (`batch`), the
rsync process (`rsync`, `runs`, `standby`), the one classifier of its result (`classify`,
`exitcodes`), room on the destination (`space`) and the destination guard (`guard`).
"""
