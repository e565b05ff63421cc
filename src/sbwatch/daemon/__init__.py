"""The long-running process: composition root, scheduler, systemd notification."""
