import ArgumentParser
Concord.main()
