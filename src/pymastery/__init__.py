"""Python Mastery: curriculum engine and learning platform."""
