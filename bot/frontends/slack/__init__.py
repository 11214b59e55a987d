"""The Slack front end (slack-bolt): /imgbot, Block Kit, modals, App Home and DM nudges."""
