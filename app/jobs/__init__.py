"""Background jobs: SAQ's worker (retries, timeouts, cron, stuck-job recovery) over a queue kept in the app's own database."""
