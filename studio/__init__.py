"""The web studio: persistence (db), media files (media), use cases (services), long jobs
(jobs), settings (config) and start-up wiring (context); the Gradio layout lives in ui."""
