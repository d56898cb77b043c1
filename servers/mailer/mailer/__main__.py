from mailer.server import main

main()
