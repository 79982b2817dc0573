"""Reading the article: its text, markup, furniture, speakers and chapters, into a `Script`."""
