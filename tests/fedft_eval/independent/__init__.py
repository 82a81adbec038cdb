"""An evaluation corpus for anonymization written independently of fedft's recognizers
(issue 19): its own templates and formats, international addresses, free-context names, every
HIPAA Safe Harbor category, organizations, and eponyms that must survive; and its scorer."""
