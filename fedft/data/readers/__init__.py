"""One reader per file format (json_file, csv_file, parquet_file): records with their line."""
