from yibao.cli.main import app

app()
