from kit.cli import app

app()
