pub mod env_file_duplicate_key;
