"""shipit: deploy one application to Railway, Render, Fly.io or this machine."""

__version__ = "0.1.0"
