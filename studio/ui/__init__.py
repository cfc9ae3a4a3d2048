"""The studio's Gradio page: one module per tab, thin callbacks calling studio.services.

app.py              build_demo() (layout only, opens nothing) and launch()
handle.py           the StudioContext, opened at launch or at the first request
shell.py            what tabs share: the handle, the open project (gr.State), the user
feedback.py         errors as toasts, escaping of user text
field_messages.py   validation sentences next to their form fields
jobs.py             streaming a job's events, cancelling a project's jobs
choices.py          labels of rows in dropdowns and galleries
placeholders.py     cards for shots and projects without a keyframe
*_tab.py            the tabs: projects, cast, script, references, storyboard, video, export, settings
"""
