"""The owner's web app (`doorcam web`): requests, clips, live picture, activity, device.

A process of its own beside the daemon. It reads clips through `device.store.view` and
records decisions through the request desk (channel "web"); it never uploads, signs or
opens the device key, and never imports the media stack (numpy, OpenCV, PyAV).
Third-party web libraries (Starlette, Jinja2, uvicorn) are imported only in this package.
"""
