from analyst.server import main

main()
