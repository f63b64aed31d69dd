"""The five accounts the access tables (test_api_access, test_permission_matrix) are written for."""

ACCOUNTS = ("anonymous", "staff", "viewer", "uploader", "superuser")
UPLOADER = ("add_loadbatch", "view_loadbatch")
