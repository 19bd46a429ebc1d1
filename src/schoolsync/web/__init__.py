"""``schoolsync serve``: the directory as a service (the REST API, ``/api/v1``)."""
