"""IAM matrix tests: users, organizations, memberships and invitations against CVAT's tables."""
