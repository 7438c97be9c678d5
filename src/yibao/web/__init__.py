"""The web front: the insured people's portal (/portal/), the agency console (/console/) and
printable settlement slips, server-rendered with Jinja2 and a little HTMX, all served locally."""
