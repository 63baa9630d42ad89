"""Custom resource handlers: run the migration task, wait for it, fail on a non-zero exit.

Inlined into two Lambda functions (index.on_event, index.is_complete) of a CDK Provider.
A new task definition revision (a new image or new settings) runs it again; a CloudFormation
rollback (a lower revision) does not, nor does a deploy with `-c migrate=false`: the schema
stays ahead of the rolled-back code.
"""

import os


def _ecs():
    import boto3

    return boto3.client("ecs")


def _revision(arn):
    return int(arn.rsplit(":", 1)[1])


def should_run(event):
    if event["RequestType"] == "Delete" or event["ResourceProperties"].get("Skip") == "true":
        return False
    if event["RequestType"] == "Update":
        old = event["OldResourceProperties"]["TaskDefinition"]
        return _revision(event["ResourceProperties"]["TaskDefinition"]) >= _revision(old)
    return True


def on_event(event, context):
    previous = event.get("PhysicalResourceId", "not-run")
    if not should_run(event):
        return {"PhysicalResourceId": previous, "Data": {"Skipped": "true"}}
    props = event["ResourceProperties"]
    response = _ecs().run_task(
        cluster=props["Cluster"],
        taskDefinition=props["TaskDefinition"],
        launchType="FARGATE",
        count=1,
        startedBy="aai-migrate",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": props["Subnets"],
                "securityGroups": props["SecurityGroups"],
                "assignPublicIp": "DISABLED",
            }
        },
    )
    if response.get("failures") or not response.get("tasks"):
        raise RuntimeError(f"migration task did not start: {response.get('failures')}")
    arn = response["tasks"][0]["taskArn"]
    print(f"started migration task {arn} in {os.environ.get('AWS_REGION', '?')}")
    return {"PhysicalResourceId": arn, "Data": {"TaskArn": arn}}


def is_complete(event, context):
    data = event.get("Data") or {}
    if event["RequestType"] == "Delete" or data.get("Skipped"):
        return {"IsComplete": True}
    cluster = event["ResourceProperties"]["Cluster"]
    task = _ecs().describe_tasks(cluster=cluster, tasks=[data["TaskArn"]])["tasks"][0]
    if task["lastStatus"] != "STOPPED":
        return {"IsComplete": False}
    codes = [c.get("exitCode") for c in task.get("containers", [])]
    if codes and all(code == 0 for code in codes):
        return {"IsComplete": True}
    reason = task.get("stoppedReason", "")
    raise RuntimeError(f"migration task failed: exit codes {codes} {reason} (see its logs)")
