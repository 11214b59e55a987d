"""The Discord front end: slash commands built from the core registry, DM nudges with buttons.

Modules: ``build`` (registry -> app commands), ``render`` (Reply -> embeds, buttons,
files; pure), ``components`` (persistent buttons), ``port`` (nudge DMs), ``client``
(the discord.py client and the one place interactions are answered), ``runner``
(``imgbot run`` and ``imgbot discord sync``). Nothing here runs at import.
"""
