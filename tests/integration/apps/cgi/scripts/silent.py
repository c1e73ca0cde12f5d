# A script that does its work and writes nothing (a cron or task handler,
# say): App Engine answered it 200 with an empty body.
done = True
