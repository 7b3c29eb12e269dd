"""Reports on the live state: how a user sends mail (`explain`), and the live
configuration written back as a file (`import`)."""
