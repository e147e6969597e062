"""Email: messages rendered from templates (text and HTML), sent through SMTP; sent by jobs, never by a request."""
