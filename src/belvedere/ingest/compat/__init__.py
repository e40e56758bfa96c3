"""Other products' trackers pointed at Belvedere: their request bodies decoded (``bodies``) and their events
translated into Belvedere's capture objects (``posthog``…), which then take the one capture path."""
