"""Pages compose components; each module adds the routes of one area."""
