"""Messages in, jobs out: the intake thread that stores and acknowledges (`inbox`), events
planned into jobs (`plan`, `changes`) and requests answered (`requests`).
"""
