"""The studio: the whole tool in a web page (Gradio), for people who never open a terminal.

``python -m studio`` serves it on http://127.0.0.1:7860. It sits on top of ``infer`` and ``train`` and
holds no painting code of its own: each tab calls what the command lines call.
"""
