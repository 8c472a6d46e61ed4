"""The server's request handlers, free of pygls: they see the editor through handlers.host.Host."""
