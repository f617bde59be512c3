"""The live dashboard: Flask + Flask-SocketIO over a cluster of node processes.

``backend.web.app.create_app`` builds the application; ``backend.web.server.serve``
runs it. Nothing is imported here on purpose: the server must monkey-patch for
eventlet before Flask-SocketIO and its friends are imported.
"""
