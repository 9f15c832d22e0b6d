"""The Celery app Flower connects with: our broker, key prefix and transport options.

python -m celery -A shared.flower_app flower   (the compose `flower` service, profile monitoring)
"""

from shared.celery_app import create_app

app = create_app("flower")
